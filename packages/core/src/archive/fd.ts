import { close, fchmod, fstat, futimes, open, read, type Stats, writev } from "node:fs";

/*
 * Promise wrappers over the callback `fs` calls on plain file descriptors. They cost a fraction
 * of `fs/promises` FileHandles per call, which matters when an archive holds thousands of small
 * files (an open, a write, a time and a close each).
 */

/** Opens `path` and resolves with the descriptor. */
export function openFd(path: string, flags: number, mode?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, flags, mode, (error, fd) => (error ? reject(error) : resolve(fd)));
  });
}

/** Closes a descriptor. */
export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    close(fd, (error) => (error ? reject(error) : resolve()));
  });
}

/** Closes a descriptor, ignoring errors (for cleanup after another error). */
export function closeFdQuietly(fd: number): Promise<void> {
  return new Promise((resolve) => {
    close(fd, () => resolve());
  });
}

/** `fstat` of a descriptor. */
export function fstatFd(fd: number): Promise<Stats> {
  return new Promise((resolve, reject) => {
    fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats)));
  });
}

/** Sets the permission bits of a descriptor's file exactly (not masked by the umask). */
export function fchmodFd(fd: number, mode: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fchmod(fd, mode, (error) => (error ? reject(error) : resolve()));
  });
}

/** Sets access and modification times of a descriptor's file. */
export function futimesFd(fd: number, time: Date): Promise<void> {
  return new Promise((resolve, reject) => {
    futimes(fd, time, time, (error) => (error ? reject(error) : resolve()));
  });
}

/** Reads up to `length` bytes at `position` into `buffer` at `offset`; resolves with the count. */
export function readFd(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

/**
 * Writes all of `chunks` at `position` (or at the current position when it is `undefined`),
 * looping over short writes.
 */
export async function writevAll(fd: number, chunks: readonly Uint8Array[], position?: number): Promise<void> {
  let pending = chunks;
  let remaining = 0;
  let at = position;
  for (const chunk of chunks) remaining += chunk.byteLength;
  while (remaining > 0) {
    const written = await new Promise<number>((resolve, reject) => {
      const done = (error: NodeJS.ErrnoException | null, bytesWritten: number): void => (error ? reject(error) : resolve(bytesWritten));
      if (at === undefined) writev(fd, pending as Uint8Array[], done);
      else writev(fd, pending as Uint8Array[], at, done);
    });
    if (at !== undefined) at += written;
    if (written <= 0) throw new Error("writev wrote nothing");
    remaining -= written;
    if (remaining > 0) pending = [Buffer.concat(pending).subarray(written)];
  }
}
