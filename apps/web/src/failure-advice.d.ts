declare module 'virtual:failure-advice' {
  /** docs/errors.md's "what the caller can do", by error code (see vite.config.ts). */
  const advice: Readonly<Record<string, string | undefined>>;
  export default advice;
}
