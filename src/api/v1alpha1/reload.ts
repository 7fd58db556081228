/**
 * spec.reload and status.reload, shared by DataTrailsIntegration and BearerToken: the workloads to
 * roll (as `kubectl rollout restart` does) when the object's credentials change, and the version of
 * the credentials they were last rolled for.
 */
import { z } from "zod";
import { objectName } from "./meta.ts";

/** The maximum number of reload targets on one object. */
export const maxReloadTargets = 16;

/** The workload kinds a reload can roll (apps/v1). */
export const reloadKinds = ["Deployment", "StatefulSet", "DaemonSet"] as const;

const labelSelector = z
  .object({
    matchLabels: z
      .record(z.string().min(1).max(317), z.string().max(63))
      .optional()
      .describe("Labels a workload must carry."),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1).max(317).describe("Label key."),
            operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]).describe("Set operator."),
            values: z
              .array(z.string().max(63))
              .max(64)
              .optional()
              .describe("Values for In and NotIn; none for Exists and DoesNotExist."),
          })
          .meta({
            "x-kubernetes-validations": [
              {
                rule:
                  "(self.operator == 'In' || self.operator == 'NotIn') ? " +
                  "(has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
                message: "In and NotIn need values; Exists and DoesNotExist take none",
                reason: "FieldValueInvalid",
              },
            ],
          }),
      )
      .max(16)
      .optional()
      .describe("Label selector requirements, ANDed."),
  })
  .describe("Workloads of the kind whose labels match (a metav1.LabelSelector; it must not be empty).")
  .meta({
    "x-kubernetes-validations": [
      {
        rule:
          "(has(self.matchLabels) && size(self.matchLabels) > 0) || " +
          "(has(self.matchExpressions) && size(self.matchExpressions) > 0)",
        message:
          "an empty selector would roll every workload of the kind: give matchLabels or matchExpressions",
        reason: "FieldValueRequired",
      },
    ],
  });

/** One workload, or one label selector over workloads of a kind, to roll (spec.reload.targets[]). */
export const reloadTarget = z
  .object({
    kind: z.enum(reloadKinds).describe("Deployment, StatefulSet or DaemonSet (apps/v1), in this namespace."),
    name: objectName.optional().describe("The workload's name. Exactly one of name and selector."),
    selector: labelSelector.optional(),
  })
  .describe("Workloads in this namespace to roll.")
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "has(self.name) != has(self.selector)",
        message: "a reload target needs exactly one of name and selector",
        reason: "FieldValueInvalid",
      },
    ],
  });
/** A reload target. */
export type ReloadTarget = z.output<typeof reloadTarget>;

/** spec.reload of a DataTrailsIntegration or a BearerToken. */
export function reloadSpec(when: string) {
  return z
    .object({
      targets: z
        .array(reloadTarget)
        .min(1)
        .max(maxReloadTargets)
        .describe(`Up to ${maxReloadTargets} workloads (by name or label selector) in this namespace.`)
        .meta({ "x-kubernetes-list-type": "atomic" }),
    })
    .optional()
    .describe(
      `Workloads to roll, as kubectl rollout restart does (an annotation on their pod template), ${when}. ` +
        "Never on a routine token refresh: a mounted token file is updated in place. See docs/reload.md.",
    );
}
/** Parsed spec.reload. */
export type ReloadSpec = NonNullable<z.output<ReturnType<typeof reloadSpec>>>;

/** status.reload: what the reload last brought the targets to. */
export const reloadStatus = z
  .object({
    version: z
      .string()
      .describe(
        "Digest of the credentials the targets were last rolled for (or found with when reload was " +
          "turned on); never a secret. A different current version means a roll is due.",
      ),
    rolledAt: z.string().optional().describe("When the targets were last rolled (RFC 3339)."),
  })
  .optional()
  .describe("The workload reload's record (spec.reload).");
/** Parsed status.reload. */
export type ReloadStatus = NonNullable<z.output<typeof reloadStatus>>;
