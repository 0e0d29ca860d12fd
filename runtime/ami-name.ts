/** AMI names allow letters, digits and ( ) [ ] . / - ' @ _ and spaces; colons are not allowed. */
export function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** `autoami-<owner>-<UTC timestamp>`: unique per group per second, sortable by time. */
export function amiName(owner: string, ms: number): string {
  return `autoami-${owner}-${utcStamp(ms)}`;
}
