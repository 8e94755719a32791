#!/usr/bin/env node
// Ferry's hand-written parsers against the well-kept libraries that do the same job
// (issue 11): ops per second on the inputs Ferry sees. Run `npm run build` first.
// A library that is not installed is skipped with the command that brings it in
// without saving it: none of them is a dependency of Ferry.
import { performance } from 'node:perf_hooks';
import { dispositionFilenames } from '../packages/engine/dist/naming/content-disposition.js';
import { parseIp } from '../packages/engine/dist/egress/ip-address.js';
import { classifyAddress } from '../packages/engine/dist/egress/address-policy.js';
import { SseParser } from '../packages/client/dist/sse.js';
import { DownloadEvent } from '../packages/contract/dist/index.js';
import { median } from './median.mjs';

const ROUNDS = Number(process.argv[2] ?? 5);

async function optional(name, install) {
  try {
    return await import(name);
  } catch {
    console.log(`  (${name} is not installed: npm i --no-save ${install} to compare)`);
    return undefined;
  }
}

/** Median ops/s of `fn` over ROUNDS rounds of about 200 ms each. */
function opsPerSecond(fn) {
  // Warm up, and size a batch to take about 5 ms so the clock is read rarely.
  let batch = 1;
  for (let took = 0; took < 5; batch *= 2) {
    const started = performance.now();
    for (let i = 0; i < batch; i += 1) fn();
    took = performance.now() - started;
  }
  const rates = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    let count = 0;
    const started = performance.now();
    while (performance.now() - started < 200) {
      for (let i = 0; i < batch; i += 1) fn();
      count += batch;
    }
    rates.push(count / ((performance.now() - started) / 1000));
  }
  return median(rates);
}

function row(label, fn) {
  console.log(`  ${label.padEnd(44)} ${Math.round(opsPerSecond(fn)).toLocaleString('en-US').padStart(12)} /s`);
}

const HEADERS = [
  'attachment; filename="report-2026.pdf"',
  'attachment; filename*=UTF-8\'\'%e2%82%ac%20rates.pdf; filename="EURO rates.pdf"',
  'inline; filename=photo.jpg; size=12345; creation-date="Wed, 12 Feb 1997 16:29:51 -0500"',
];
console.log(`Content-Disposition: one pass over ${HEADERS.length} headers`);
row('Ferry dispositionFilenames', () => HEADERS.forEach((h) => dispositionFilenames(h)));
const cd = await optional('content-disposition', 'content-disposition@3');
if (cd !== undefined) {
  row('content-disposition parse + decodeExtended', () =>
    HEADERS.forEach((h) => {
      const { parameters } = cd.parse(h, { extended: false });
      if (parameters['filename*'] !== undefined) cd.decodeExtended(parameters['filename*']);
    }),
  );
}

const ADDRESSES = ['93.184.215.14', '2606:4700:4700::1111', '::ffff:127.0.0.1', '64:ff9b::8.8.8.8', 'fe80::1%eth0', '10.1.2.3'];
console.log(`\nIP addresses: one pass over ${ADDRESSES.length} resolver answers`);
row('Ferry parseIp (canonical text)', () => ADDRESSES.forEach((a) => parseIp(a)));
row('Ferry classifyAddress (parse + every range)', () => ADDRESSES.forEach((a) => classifyAddress(a)));
const ipaddr = await optional('ipaddr.js', 'ipaddr.js@2');
if (ipaddr !== undefined) {
  const parse = ipaddr.default.parse;
  row('ipaddr.js parse + toString (canonical text)', () => ADDRESSES.forEach((a) => parse(a.split('%')[0]).toString()));
  row('ipaddr.js parse + range()', () => ADDRESSES.forEach((a) => parse(a.split('%')[0]).range()));
}

/** An event stream cut into `size`-character chunks, as the network hands them over. */
function chunked(text, size) {
  const chunks = [];
  for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
  return chunks;
}
const progressData = (i) => `{"type":"progress","id":"dl_${i}","receivedBytes":${i * 65536},"totalBytes":1073741824,"bytesPerSecond":52428800,"etaSeconds":20}`;
const progress = (i) => `event: progress\ndata: ${progressData(i)}\n\n`;
const STREAMS = [
  ['1,000 progress events, 16 KiB chunks', chunked(Array.from({ length: 1000 }, (_, i) => progress(i)).join(''), 16384)],
  ['1,000 progress events, 64-char chunks', chunked(Array.from({ length: 1000 }, (_, i) => progress(i)).join(''), 64)],
  ['one 1 MiB event, 16 KiB chunks', chunked(`data: ${'x'.repeat(1 << 20)}\n\n`, 16384)],
];
const esp = await optional('eventsource-parser', 'eventsource-parser@3');
for (const [label, chunks] of STREAMS) {
  console.log(`\nSSE: ${label} (whole streams)`);
  row('Ferry SseParser', () => {
    const parser = new SseParser();
    for (const chunk of chunks) parser.feed(chunk);
  });
  if (esp !== undefined) {
    row('eventsource-parser createParser', () => {
      const parser = esp.createParser({ onEvent: () => undefined });
      for (const chunk of chunks) parser.feed(chunk);
    });
  }
}

// What the client does with each event after parsing it, for scale.
const EVENT_DATA = Array.from({ length: 1000 }, (_, i) => progressData(i));
console.log('\nFor scale: what the client then does with the 1,000 events');
row('JSON.parse + DownloadEvent.parse', () => EVENT_DATA.forEach((data) => DownloadEvent.parse(JSON.parse(data))));
