// Files imported `with { type: "text" }` (embedded in the compiled binary).
declare module "*.sql" {
  const text: string;
  export default text;
}
