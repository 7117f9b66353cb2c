/** Environments through a backend without native archives: copied in file by file, saved by walking the tree. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E1, E2, type Harness, memberContent, memberNames, perFileBackend, startHarness, tarGz } from "./test-support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, perFileBackend);
  await h.store(E2.uuid, await tarGz(E2.files));
});
afterAll(async () => {
  await h.close();
});

describe("per-file backend", () => {
  it("C15: upload over a stored environment, saved with plain names, modes and links inside kept", async () => {
    const response = await h.executeMultipart(
      {
        commands: ['echo "Hello World !" > result.txt && printf "#!/bin/sh\\necho ok\\n" > run.sh && chmod 755 run.sh && ln -s dir/file1.txt link && ln -s /etc/passwd out'],
        result_path: "result.txt",
        save: true,
        environment: E2.uuid,
      },
      await tarGz(E1.files),
    );
    expect(response.status, JSON.stringify(h.logged)).toBe(200);
    const body = response.json();
    expect(body.status).toBe(0);
    expect(body.result).toBe("Hello World !\n");
    const archive = (await h.request("GET", `/environments/${body.environment as string}/`)).body;
    expect(await memberNames(archive)).toEqual([
      "dir",
      "dir/file1.txt",
      "dir/file2.txt",
      "dir/file3.txt",
      "dir2",
      "dir2/file2.txt",
      "file1.txt",
      "file2.txt",
      "file3.txt",
      "link",
      "result.txt",
      "run.sh",
    ]);
    expect(memberContent(archive, "dir/file3.txt")).toBe("both1\n");
    const again = (await h.executeForm({ commands: ["./run.sh", "cat link"], environment: body.environment })).json();
    expect((again.execution as { stdout: string }[]).map((entry) => entry.stdout)).toEqual(["ok", "env1"]);
    expect(await h.sandboxDirs()).toEqual([]);
  });
});
