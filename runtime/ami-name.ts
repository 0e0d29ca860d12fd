/**
 * AMI names allow letters, digits and ( ) [ ] . / - ' @ _ and spaces; colons are not allowed.
 * Milliseconds are kept: a retried CreateImage finds its image by name, so two bakes of one
 * group must never share a name, even when they finish within the same second.
 */
function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

/** `autoami-<owner>-<UTC timestamp>`: unique per group, sortable by time. */
export function amiName(owner: string, ms: number): string {
  return `autoami-${owner}-${utcStamp(ms)}`;
}
