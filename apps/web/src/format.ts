import { formatBytes, formatDuration } from '@ferry/client';

export function formatSpeed(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '' : `${formatBytes(bytesPerSecond)}/s`;
}

export function formatEta(seconds: number | null): string {
  return seconds === null || !Number.isFinite(seconds) ? '' : `${formatDuration(seconds)} left`;
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}
