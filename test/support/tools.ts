// Tests that need an outside tool (Chromium, PostgreSQL, Redis) skip locally when it is missing,
// with a line saying so; under CI=true a skip would hide a broken setup, so it fails instead.
export function needs(tool: string, available: boolean): boolean {
  if (available) return true;
  if (process.env.CI === "true") throw new Error(`${tool} is required in CI but was not found`);
  console.warn(`skipping: ${tool} not found (install it, or run .ci/run)`);
  return false;
}
