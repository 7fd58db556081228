/**
 * metav1.LabelSelector matching, for ClusterDataTrailsConnection.spec.allowedNamespaces.selector.
 */

/** A metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?:
    | { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] | undefined }[]
    | undefined;
}

/** Whether `labels` satisfy `selector`; an empty selector matches everything, as in Kubernetes. */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const value = labels[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
        if (!has || !values.includes(value ?? "")) return false;
        break;
      case "NotIn":
        if (has && values.includes(value ?? "")) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}

/**
 * The selector in the API server's `labelSelector` query syntax (`a=b,c in (d,e),!f`), for a list;
 * sorted, so that one selector always reads the same. An empty selector gives "" (everything).
 */
export function selectorString(selector: LabelSelector): string {
  const terms = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
  for (const req of selector.matchExpressions ?? []) {
    const values = [...(req.values ?? [])].sort().join(",");
    switch (req.operator) {
      case "In":
        terms.push(`${req.key} in (${values})`);
        break;
      case "NotIn":
        terms.push(`${req.key} notin (${values})`);
        break;
      case "Exists":
        terms.push(req.key);
        break;
      case "DoesNotExist":
        terms.push(`!${req.key}`);
        break;
    }
  }
  return terms.join(",");
}
