// ml-regression ships no type declarations; the regressions it re-exports do.
declare module "ml-regression" {
  export { SimpleLinearRegression } from "ml-regression-simple-linear";
}
