export { describeBackendConformance } from "./describe-backend-conformance.js";
export { CONFORMANCE_CASES, type ConformanceCaseId } from "./cases.js";
export {
  DEFAULT_CODE_SAMPLES,
  type BackendConformanceOptions,
  type CodeSample,
  type ConformanceConfigFactory,
  type DeclaredCapabilities,
  type MaybePromise,
} from "./options.js";
