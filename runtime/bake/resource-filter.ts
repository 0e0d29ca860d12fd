/**
 * Which of a run's changed resources count toward an image. `--ignore-resources` names
 * resources whose changes never count (Type[title], `*` in the title for any text); the
 * type matches whatever its case, as Puppet's types do, and the title exactly.
 */

export type ResourceFilter = (title: string) => boolean;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function matcherOf(reference: string): RegExp {
  const open = reference.indexOf('[');
  const type = reference.slice(0, open);
  const title = reference.slice(open + 1, -1);
  const titleSource = title.split('*').map(escapeRegExp).join('.*');
  // The type part is case-blind and the title is not: a type-only flag would need two regexps.
  const typeSource = [...type].map((char) => (/[a-z]/i.test(char) ? `[${char.toLowerCase()}${char.toUpperCase()}]` : escapeRegExp(char))).join('');
  return new RegExp(`^${typeSource}\\[${titleSource}\\]$`, 's');
}

/** True for a title one of `references` matches; with none, nothing is ignored. */
export function ignoredBy(references: readonly string[]): ResourceFilter {
  const matchers = references.map(matcherOf);
  return (title) => matchers.some((matcher) => matcher.test(title));
}
