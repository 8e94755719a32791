/** `text` cut to `width` columns with an ellipsis, or padded to it. */
export function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length > width ? `${chars.slice(0, Math.max(0, width - 1)).join('')}…` : text.padEnd(width);
}
