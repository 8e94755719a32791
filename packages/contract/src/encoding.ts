// The contract also runs in browsers, which have neither Buffer nor node: modules.
const encoder = new TextEncoder();

/** Bytes `text` takes in UTF-8. */
export const utf8Length = (text: string): number => encoder.encode(text).length;

/** The bytes of standard or URL-safe base64 (padded or not) as lowercase hex, or undefined when it is not base64. */
export function base64ToHex(value: string): string | undefined {
  const standard = value.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(standard) || standard.length % 4 === 1) return undefined;
  const binary = atob(standard.padEnd(Math.ceil(standard.length / 4) * 4, '='));
  return Array.from(binary, (char) => char.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}
