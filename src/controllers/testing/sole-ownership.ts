/** An Ownership for seam tests with one object and no rival: nobody else writes, names or adopts its Secrets. */
import type { Ownership } from "../ownership.ts";

export const soleOwnership: Ownership = {
  secretWriters: () => [],
  holderExists: () => true,
  integrationWithUid: () => undefined,
  adopters: () => [],
};
