/** The canonical UTC form of now plus `offsetMs` (negative: in the past), so tests never age. */
export function isoFromNow(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString();
}
