/**
 * How AIO paths map onto a backend sandbox. The AIO sandbox is a whole machine (`/mnt/user-data`,
 * `/tmp`, `/home/gem`); a sandkit backend may only offer its workdir. So the data plane reports
 * the backend's workdir as `home_dir`, keeps paths inside the workdir as they are, and stores
 * every other absolute path below the workdir: `/mnt/user-data/a.txt` becomes
 * `<workdir>/mnt/user-data/a.txt`. Relative paths are relative to the workdir. A `..` segment or a
 * NUL byte is refused.
 */
export class AioPathMap {
  readonly workdir: string;

  constructor(workdir: string) {
    this.workdir = workdir === "/" ? "/" : workdir.replace(/\/+$/, "");
  }

  /** The normalised AIO path (absolute, no `.` or empty segments), or `undefined` when it is not acceptable. */
  normalise(path: string): string | undefined {
    if (path.length === 0 || path.includes("\0")) return undefined;
    const absolute = path.startsWith("/") ? path : `${this.workdir}/${path}`;
    const parts = absolute.split("/").filter((part) => part !== "" && part !== ".");
    if (parts.includes("..")) return undefined;
    return `/${parts.join("/")}`;
  }

  /** The backend path an AIO path is stored at, or `undefined` when the path is not acceptable. */
  toBackend(path: string): string | undefined {
    const normal = this.normalise(path);
    if (normal === undefined) return undefined;
    if (this.workdir === "/" || normal === this.workdir || normal.startsWith(`${this.workdir}/`)) return normal;
    return normal === "/" ? this.workdir : `${this.workdir}${normal}`;
  }
}
