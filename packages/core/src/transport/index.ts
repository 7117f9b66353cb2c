// The HTTP transport (undici + p-retry); see docs/transport.md.
export { createHttpClient } from "./http-client.js";
export type {
  HeaderValue,
  HttpClient,
  HttpClientOptions,
  HttpMethod,
  HttpRequestOptions,
  HttpResponse,
  RequestBody,
  ResponseBody,
  ResponseType,
} from "./types.js";
export type { RetryOptions } from "./retry-policy.js";
export {
  httpDetailsOf,
  type HttpErrorContext,
  type HttpErrorDetails,
  type HttpErrorInfo,
  type HttpErrorMapper,
  type HttpHeaders,
} from "./http-errors.js";
export { HTTP_CHANNELS, type HttpRequestEvent } from "./channels.js";
export { parseRetryAfter } from "./retry-after.js";
export { redactUrl } from "./redact-url.js";
export {
  array,
  bool,
  int,
  literal,
  map,
  nullable,
  num,
  obj,
  oneOf,
  optional,
  parseShape,
  record,
  str,
  unknownValue,
  type ObjType,
  type Shape,
  type ShapeType,
} from "./shape.js";
