/** The entries of a comma-separated config value, trimmed, empty ones dropped: `a, b,,c` is a, b, c. */
export function listEntries(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
