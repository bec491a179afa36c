// Files the web client imports as URLs: Bun's bundler serves them and gives their path.
declare module "*.svg" {
  const url: string;
  export default url;
}
