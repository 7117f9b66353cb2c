// The fault-injecting loopback proxy (issue 3 §3).
export { createFaultProxy, type FaultLogEntry, type FaultProxy, type FaultProxyOptions } from "./fault-proxy.js";
export { FaultPlan, seededRandom, type Fault, type FaultKind, type FaultRule } from "./faults.js";
