/** Template files bundled as text (scripts/build-console.ts: loader `text`). */
declare module '*.py' {
  const text: string;
  export default text;
}
declare module '*.yaml' {
  const text: string;
  export default text;
}
declare module '*.json?text' {
  const text: string;
  export default text;
}
declare module '*.css';
