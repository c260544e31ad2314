// One remediation text from a check's metadata and its judgement: the situation-specific fix first, then the
// code's general fix, per ingress controller where the controllers differ.
import type { CheckMeta, Controller, Fix, Judgement } from './model.js';

const LABEL: Record<Controller, string> = {
  'ingress-nginx': 'ingress-nginx',
  nginx: 'nginx',
  contour: 'Contour',
  traefik: 'Traefik',
  istio: 'Istio',
  haproxy: 'HAProxy',
};

export function formatFix(fix: Fix, controller?: Controller): string {
  if (typeof fix === 'string') return fix;
  const specific = controller ? fix[controller] : undefined;
  if (specific) return specific;
  const lines = (Object.keys(LABEL) as Controller[]).filter((c) => fix[c]).map((c) => `${LABEL[c]}: ${fix[c]}`);
  return [fix.general, ...lines].filter(Boolean).join('\n');
}

export function remediationFor(meta: CheckMeta, j: Judgement, controller?: Controller): string | undefined {
  const general = j.code && !(j.replacesFix && j.fix) ? meta.codes[j.code]?.fix : undefined;
  const parts = [j.fix, general !== undefined ? formatFix(general, controller) : undefined].filter(
    (s): s is string => !!s,
  );
  return parts.length ? [...new Set(parts)].join('\n') : undefined;
}
