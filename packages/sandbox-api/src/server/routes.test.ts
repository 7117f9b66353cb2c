import { describe, expect, it } from "vitest";
import { allowHeader, parseRoute } from "./routes.js";

const uuid = "dae5f9a3-a911-4df4-82f8-b9343241ece5";

describe("parseRoute", () => {
  it("matches the routes with their trailing slash only", () => {
    expect(parseRoute("/execute/")).toEqual({ kind: "execute" });
    expect(parseRoute("/execute/?x=1")).toEqual({ kind: "execute" });
    expect(parseRoute("/execute")).toBeUndefined();
    expect(parseRoute("/specifications/")).toEqual({ kind: "specifications" });
    expect(parseRoute("/usages/")).toEqual({ kind: "usages" });
    expect(parseRoute("/libraries/")).toEqual({ kind: "libraries" });
    expect(parseRoute("/")).toBeUndefined();
  });

  it("accepts lowercase hyphenated UUIDs only", () => {
    expect(parseRoute(`/environments/${uuid}/`)).toEqual({ kind: "environment", uuid });
    expect(parseRoute(`/environments/${uuid.toUpperCase()}/`)).toBeUndefined();
    expect(parseRoute(`/environments/${uuid.replaceAll("-", "")}/`)).toBeUndefined();
    expect(parseRoute("/environments/unknown/")).toBeUndefined();
    expect(parseRoute(`/environments/${uuid}`)).toBeUndefined();
  });

  it("keeps the file path whole, percent-decoded", () => {
    expect(parseRoute(`/files/${uuid}/dir/file1.txt/`)).toEqual({ kind: "file", uuid, path: "dir/file1.txt" });
    expect(parseRoute(`/files/${uuid}/a%20b/c%2Fd/`)).toEqual({ kind: "file", uuid, path: "a b/c/d" });
    expect(parseRoute(`/files/${uuid}/dir/file1.txt`)).toBeUndefined();
    expect(parseRoute(`/files/${uuid}/%E0%A4%A/`)).toBeUndefined();
    expect(parseRoute(`/files/${uuid}/a%00b/`)).toBeUndefined();
  });

  it("lists the methods of a route in Allow", () => {
    expect(allowHeader("execute")).toBe("POST, OPTIONS");
    expect(allowHeader("file")).toBe("GET, HEAD, OPTIONS");
  });
});
