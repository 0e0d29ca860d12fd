export function minimumNode(range: string | undefined): [number, number, number];
export function nodeVersionProblem(found: string, range: string | undefined): string | null;
