import { ValidationError } from "@sandkit/core";
import { describe, expect, it } from "vitest";
import { checkQuantity, cpuQuantity, isQuantity, mebibyteQuantity } from "./quantity.ts";

describe("Kubernetes quantities", () => {
  it.each(["1", "500m", "0.5", ".5", "1.", "1Gi", "512Mi", "2Ti", "100k", "1M", "1e3", "1E-2", "250u", "3n", "1.5Gi"])("accepts %j", (value) => {
    expect(isQuantity(value)).toBe(true);
  });

  it.each(["lots", "", "-1", "+1", "1 Gi", "1gi", "1GiB", "Gi", "1..5", "1e", "0x10", "1m ", " 1", "1".repeat(65), "1Ki2"])("refuses %j", (value) => {
    expect(isQuantity(value)).toBe(false);
    expect(() => checkQuantity(value, "memoryLimit", "configure")).toThrow(ValidationError);
  });

  it("names the field in the error", () => {
    expect(() => checkQuantity("lots", "cpuLimit", "configure")).toThrow(/cpuLimit must be a Kubernetes quantity/);
    expect(() => checkQuantity(5, "cpuLimit", "configure")).toThrow(ValidationError);
  });

  it("turns sandkit's units into quantities", () => {
    expect(cpuQuantity(2)).toBe("2");
    expect(cpuQuantity(0.5)).toBe("500m");
    expect(cpuQuantity(0.0001)).toBe("1m");
    expect(mebibyteQuantity(512)).toBe("512Mi");
    expect(mebibyteQuantity(1.2)).toBe("2Mi");
    for (const value of [cpuQuantity(1.25), mebibyteQuantity(3)]) expect(isQuantity(value)).toBe(true);
  });
});
