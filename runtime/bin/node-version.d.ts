export function minimumNode(range: string | undefined): [number, number, number];
export function nodeVersionProblem(found: string, range: string | undefined): string | null;
export function loadEntry(bundle: URL, source: URL): Promise<{ main(argv: string[]): Promise<unknown> }>;
