import { LabelSelector } from './types';

/**
 * Whether `labels` match a LabelSelector (apps/v1 `spec.selector`): every matchLabels pair and every matchExpressions
 * requirement (In, NotIn, Exists, DoesNotExist) must hold. An empty selector ({}) matches everything, as in
 * k8s.io/apimachinery `metav1.LabelSelectorAsSelector`.
 */
export function matchesLabelSelector(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (have[k] !== v) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(have, req.key);
    switch (req.operator) {
      case 'In':
        if (!present || !(req.values ?? []).includes(have[req.key])) return false;
        break;
      case 'NotIn':
        if (present && (req.values ?? []).includes(have[req.key])) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}
