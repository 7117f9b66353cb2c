/** The same execute over the local backend with bubblewrap isolation (commands see a container-like /workspace). */
import { describe, expect, it } from "vitest";
import { bubblewrapWorks, E1, memberNames, startHarness, tarGz } from "./test-support/harness.js";

const available = await bubblewrapWorks();

describe.skipIf(!available)("over bubblewrap", () => {
  it("C11 and C12: upload, run, read the result, save, download", async () => {
    await using h = await startHarness({}, undefined, "bubblewrap");
    const response = await h.executeMultipart(
      { commands: ['echo "Hello World !" > result.txt', "pwd", "cat dir/file1.txt"], result_path: "result.txt", save: true },
      await tarGz(E1.files),
    );
    expect(response.status, JSON.stringify(h.logged)).toBe(200);
    const body = response.json();
    expect(body.status).toBe(0);
    expect((body.execution as { stdout: string }[]).map((entry) => entry.stdout)).toEqual(["", "/workspace", "env1"]);
    expect(body.result).toBe("Hello World !\n");
    const archive = await h.request("GET", `/environments/${body.environment as string}/`);
    expect(await memberNames(archive.body)).toEqual(["dir", "dir/file1.txt", "dir/file3.txt", "file1.txt", "file3.txt", "result.txt"]);
    expect(await h.sandboxDirs()).toEqual([]);
  });
});
