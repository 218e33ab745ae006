import type { Industry } from '../shared/types';

const LABELS: Record<Industry, string> = { retail: 'Retail', hospitality: 'Hospitality', events: 'Events' };

export function industryLabel(industry: string): string {
  return LABELS[industry as Industry] ?? industry;
}
