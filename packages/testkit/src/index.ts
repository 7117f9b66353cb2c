/**
 * @sandkit/testkit: the conformance suite every sandkit backend runs, a fault-injecting loopback
 * proxy, and hostile-archive fixtures generated in code.
 * @packageDocumentation
 */
export * from "./conformance/index.js";
export * from "./fault-proxy/index.js";
export * from "./fixtures/index.js";
