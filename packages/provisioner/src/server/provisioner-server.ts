import type { SandboxBackendV1 } from "@sandkit/core";
import type { ProvisionerServerOptions } from "./options.js";

/** A running DeerFlow-provisioner-compatible server. */
export interface ProvisionerServer extends AsyncDisposable {
  /** The control plane's base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** The interface the control plane listens on. */
  readonly host: string;
  /** The control plane's port (the one picked when `port` was 0). */
  readonly port: number;
  /** The backend sandboxes are made on. */
  readonly backend: SandboxBackendV1;
  /**
   * Test hook: makes sandbox `sandboxId` "disappear" like a pod deleted behind the provisioner's
   * back: its data plane is closed (connections refused), its backend sandbox destroyed, and
   * `GET /api/sandboxes/{id}` answers `200` with `status: "NotFound"` until a `DELETE` (the
   * Service is still there, as in Kubernetes). Resolves `false` when the id is unknown.
   */
  simulateLostPod(sandboxId: string): Promise<boolean>;
  /**
   * Stops listening (control plane and every data plane), destroys every sandbox this server
   * made, closes every connection, and closes the backend if the server created it.
   * Idempotent; resolves once all of that is done.
   */
  close(): Promise<void>;
}

/** Signature of {@link createProvisionerServer}, for reference from docs. */
export type CreateProvisionerServer = (options?: ProvisionerServerOptions) => Promise<ProvisionerServer>;
