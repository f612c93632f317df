// A small SMSC simulator for simgate's SMPP tests (smpp.md §12).
//
// An SMPP 3.4 server built on npm `smpp` (node-smpp), deliberately independent
// of simgate's own SMPP code, plus a JSON control API over HTTP. Both listen
// on 127.0.0.1 only. Port 0 picks a free port; the chosen ports are printed
// on stdout as one JSON line: {"smpp_port": N, "http_port": M}.
//
// Environment (defaults in brackets):
//   SMSC_SMPP_PORT [2775]  SMSC_HTTP_PORT [8775]  SMSC_SYSTEM_ID [test]  SMSC_PASSWORD [test]
//   SMSC_RECEIPT_DELAY_MS [300]  SMSC_RESP_DELAY_MS [0]  SMSC_WINDOW [0 = unlimited]
//   SMSC_ENQUIRE_MS [0 = the SMSC sends no enquire_link]  SMSC_RECEIPT_DATE_DIGITS [10 or 12]
//   SMSC_REDELIVER_MAX [3: deliver_sm answered with an error is sent again, this many times]
//
// Control API (JSON):
//   GET  /health /submits /messages /dlrs /mos
//   POST /reset (also drops connections)   /reject {status, count}   /disconnect
//   POST /unbind (the SMSC unbinds every bound session)
//   POST /mo {from, to, text, data_coding?, vendor_tlv_hex?, lose_ack?} -> 200 delivered now, 202 queued
//        (lose_ack: drop the connection when the ESME answers, as if the answer was lost, and
//        send the MO again on the next bind)
//   POST /config {receipt_delay_ms?, resp_delay_ms?, window?, enquire_ms?, receipt_date_digits?,
//                 redeliver_max?}
'use strict';

const http = require('http');
const smpp = require('smpp');

const env = (name, fallback) => (process.env[name] === undefined ? fallback : process.env[name]);
const SYSTEM_ID = env('SMSC_SYSTEM_ID', 'test');
const PASSWORD = env('SMSC_PASSWORD', 'test');
const START_CONFIG = {
  receipt_delay_ms: Number(env('SMSC_RECEIPT_DELAY_MS', 300)),
  resp_delay_ms: Number(env('SMSC_RESP_DELAY_MS', 0)),
  window: Number(env('SMSC_WINDOW', 0)),
  enquire_ms: Number(env('SMSC_ENQUIRE_MS', 0)),
  receipt_date_digits: Number(env('SMSC_RECEIPT_DATE_DIGITS', 10)),
  redeliver_max: Number(env('SMSC_REDELIVER_MAX', 3)),
};

// Keep raw bytes and raw time strings: decoding is done here, after joining parts.
smpp.filters.message.decode = (value) => value;
smpp.filters.time.decode = (value) => value;
smpp.addTLV('vendor_1401', { id: 0x1401, type: smpp.types.tlv.buffer });

let config;
let state;
let nextMessageId = 1;
let nextSessionId = 1;
const timers = new Set();

function resetState() {
  for (const t of timers) clearTimeout(t);
  timers.clear();
  config = { ...START_CONFIG };
  state = {
    submits: [], messages: [], deliveries: [], pending: {}, concat: {}, rejects: [],
    enquire_link_received: 0, enquire_link_resp_seen: 0, unbind_received: 0,
    max_inflight: 0, throttled: 0,
  };
}
resetState();

function later(ms, fn) {
  const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
  timers.add(t);
}

const hex = (buf) => (Buffer.isBuffer(buf) ? buf.toString('hex') : null);

function ucs2Decode(buf) {
  const swapped = Buffer.from(buf);
  swapped.swap16();
  return swapped.toString('utf16le');
}

function ucs2Encode(text) {
  const buf = Buffer.from(text, 'utf16le');
  buf.swap16();
  return buf;
}

function decodeText(buf, dataCoding) {
  if (dataCoding === 8 || dataCoding === 0x18) return buf.length % 2 ? null : ucs2Decode(buf);
  if (dataCoding === 3) return buf.toString('latin1');
  if ([0, 1, 0x10, 0xf0].includes(dataCoding)) return smpp.gsmCoder.decode(buf, 0);
  return null;
}

// UDH (esm_class 0x40) first, then SAR TLVs, then message_payload, else a single message.
function concatInfo(pdu, raw) {
  if (pdu.esm_class & 0x40 && raw.length > 0) {
    const udhLength = raw[0];
    const udh = raw.subarray(1, 1 + udhLength);
    for (let i = 0; i + 1 < udh.length; i += 2 + udh[i + 1]) {
      const [iei, len] = [udh[i], udh[i + 1]];
      if (iei === 0x00 && len === 3) {
        return { kind: 'udh8', ref: udh[i + 2], total: udh[i + 3], seq: udh[i + 4], udh: raw.subarray(0, udhLength + 1), payload: raw.subarray(udhLength + 1) };
      }
      if (iei === 0x08 && len === 4) {
        return { kind: 'udh16', ref: udh.readUInt16BE(i + 2), total: udh[i + 4], seq: udh[i + 5], udh: raw.subarray(0, udhLength + 1), payload: raw.subarray(udhLength + 1) };
      }
    }
    return { kind: 'udh', ref: null, total: 1, seq: 1, udh: raw.subarray(0, udhLength + 1), payload: raw.subarray(udhLength + 1) };
  }
  if (pdu.sar_msg_ref_num !== undefined && pdu.sar_total_segments !== undefined) {
    return { kind: 'sar', ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum, udh: null, payload: raw };
  }
  if (Buffer.isBuffer(pdu.message_payload)) {
    return { kind: 'payload', ref: null, total: 1, seq: 1, udh: null, payload: pdu.message_payload };
  }
  return { kind: 'single', ref: null, total: 1, seq: 1, udh: null, payload: raw };
}

function reassemble(record, info) {
  const finish = (parts) => {
    const raw = Buffer.concat(parts.map((p) => p.payload));
    state.messages.push({
      source_addr: record.source_addr, destination_addr: record.destination_addr,
      data_coding: record.data_coding, kind: info.kind, raw_hex: raw.toString('hex'),
      text: decodeText(raw, record.data_coding), parts: parts.map((p) => p.message_id),
    });
  };
  if (info.total <= 1 || info.ref === null) {
    finish([{ payload: info.payload, message_id: record.message_id }]);
    return;
  }
  const key = [record.source_addr, record.destination_addr, info.kind, info.ref, info.total].join('|');
  const group = (state.concat[key] = state.concat[key] || {});
  group[info.seq] = { payload: info.payload, message_id: record.message_id };
  if (Object.keys(group).length === info.total) {
    delete state.concat[key];
    const parts = [];
    for (let seq = 1; seq <= info.total; seq++) parts.push(group[seq]);
    if (parts.every(Boolean)) finish(parts);
  }
}

function smscDate(date) {
  const two = (n) => String(n).padStart(2, '0');
  const full = two(date.getUTCFullYear() % 100) + two(date.getUTCMonth() + 1) + two(date.getUTCDate())
    + two(date.getUTCHours()) + two(date.getUTCMinutes()) + two(date.getUTCSeconds());
  return full.substring(0, config.receipt_date_digits === 12 ? 12 : 10);
}

// --- deliveries (receipts and MO): to an RX-capable session of the account, queued until one binds.

function rxSession(systemId) {
  return server.sessions.find((s) => s.sim && s.sim.bound && s.sim.rx && s.sim.system_id === systemId);
}

function deliver(item) {
  const session = rxSession(item.system_id);
  if (!session) {
    item.state = 'queued';
    (state.pending[item.system_id] = state.pending[item.system_id] || []).push(item);
    return false;
  }
  item.state = 'sent';
  item.attempts += 1;
  session.sim.outstanding.add(item);
  session.deliver_sm({ ...item.pdu }, (resp) => {
    if (item.lose_ack) {
      // The answer lost with the connection: the SMSC never saw it, and
      // sends the same deliver_sm again on the next bind (smpp.md §5, §9).
      item.lose_ack = false;
      item.resp_statuses.push(resp.command_status);
      session.destroy();
      return;
    }
    session.sim.outstanding.delete(item);
    item.resp_statuses.push(resp.command_status);
    if (resp.command_status === 0) {
      item.state = 'acked';
    } else if (item.attempts <= config.redeliver_max) {
      item.state = 'retrying';
      later(config.receipt_delay_ms, () => deliver(item));
    } else {
      item.state = 'failed';
    }
  });
  return true;
}

function flushPending(systemId) {
  const queue = state.pending[systemId] || [];
  state.pending[systemId] = [];
  for (const item of queue) deliver(item);
}

function newDelivery(kind, systemId, pdu, extra) {
  const item = { kind, system_id: systemId, pdu, state: 'new', attempts: 0, resp_statuses: [], ...extra };
  state.deliveries.push(item);
  return item;
}

function scheduleReceipt(record, submittedAt) {
  const dest = record.destination_addr;
  if (dest.endsWith('777')) return;
  const failed = dest.endsWith('666');
  const rd = record.registered_delivery & 3;
  if (!(rd === 1 || (rd === 2 && failed))) return;
  later(config.receipt_delay_ms, () => {
    const stat = failed ? 'UNDELIV' : 'DELIVRD';
    const text = (record.text || '').substring(0, 20).replace(/[^\x20-\x7e]/g, '?');
    const short = `id:${record.message_id} sub:001 dlvrd:${failed ? '000' : '001'} submit date:${smscDate(submittedAt)}`
      + ` done date:${smscDate(new Date())} stat:${stat} err:${failed ? '001' : '000'} text:${text}`;
    const pdu = {
      source_addr_ton: record.dest_addr_ton, source_addr_npi: record.dest_addr_npi, source_addr: dest,
      dest_addr_ton: record.source_addr_ton, dest_addr_npi: record.source_addr_npi,
      destination_addr: record.source_addr, esm_class: 0x04, data_coding: 0,
      short_message: Buffer.from(short, 'ascii'),
      receipted_message_id: record.message_id, message_state: failed ? 5 : 2,
    };
    deliver(newDelivery('dlr', record.system_id, pdu, { message_id: record.message_id, stat, short_message: short }));
  });
}

// --- SMPP server

function onSubmit(session, pdu) {
  const sim = session.sim;
  const answer = (options) => session.send(pdu.response(options));
  if (!sim.bound || !sim.tx) return answer({ command_status: smpp.ESME_RINVBNDSTS });
  if (state.rejects.length) {
    const reject = state.rejects[0];
    if (--reject.count <= 0) state.rejects.shift();
    return answer({ command_status: reject.status });
  }
  if (config.window > 0 && sim.inflight >= config.window) {
    state.throttled += 1;
    return answer({ command_status: smpp.ESME_RTHROTTLED });
  }
  const raw = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
  const info = concatInfo(pdu, raw);
  const messageId = (nextMessageId++).toString(16).padStart(8, '0');
  const record = {
    message_id: messageId, system_id: sim.system_id, session: sim.id, sequence_number: pdu.sequence_number,
    service_type: pdu.service_type, source_addr_ton: pdu.source_addr_ton, source_addr_npi: pdu.source_addr_npi,
    source_addr: pdu.source_addr, dest_addr_ton: pdu.dest_addr_ton, dest_addr_npi: pdu.dest_addr_npi,
    destination_addr: pdu.destination_addr, esm_class: pdu.esm_class, protocol_id: pdu.protocol_id,
    priority_flag: pdu.priority_flag, schedule_delivery_time: pdu.schedule_delivery_time,
    validity_period: pdu.validity_period, registered_delivery: pdu.registered_delivery,
    data_coding: pdu.data_coding, short_message_hex: raw.toString('hex'),
    message_payload_hex: hex(pdu.message_payload), udh_hex: hex(info.udh),
    concat: { kind: info.kind, ref: info.ref, total: info.total, seq: info.seq },
    text: decodeText(info.payload, pdu.data_coding),
  };
  state.submits.push(record);
  reassemble(record, info);
  scheduleReceipt(record, new Date());
  sim.inflight += 1;
  state.max_inflight = Math.max(state.max_inflight, sim.inflight);
  const respond = () => { sim.inflight -= 1; answer({ message_id: messageId }); };
  if (config.resp_delay_ms > 0) later(config.resp_delay_ms, respond); else respond();
}

function onBind(session, pdu, rx, tx) {
  const sim = session.sim;
  const kind = pdu.command.replace('_resp', '');
  let status = 0;
  if (sim.bound) status = smpp.ESME_RALYBND;
  else if (pdu.system_id !== SYSTEM_ID) status = smpp.ESME_RINVSYSID;
  else if (pdu.password !== PASSWORD) status = smpp.ESME_RINVPASWD;
  if (status) {
    session.send(pdu.response({ command_status: status }));
    return;
  }
  Object.assign(sim, { bound: true, rx, tx, system_id: pdu.system_id, bind: kind });
  session.send(pdu.response({ system_id: 'SIMSMSC', sc_interface_version: 0x34 }));
  if (config.enquire_ms > 0) {
    sim.enquire = setInterval(() => {
      session.enquire_link({}, () => { state.enquire_link_resp_seen += 1; });
    }, config.enquire_ms);
  }
  if (rx) flushPending(sim.system_id);
}

const server = smpp.createServer((session) => {
  session.sim = { id: nextSessionId++, bound: false, rx: false, tx: false, inflight: 0, outstanding: new Set() };
  session.on('error', () => session.destroy());
  session.on('close', () => {
    if (session.sim.enquire) clearInterval(session.sim.enquire);
    session.sim.bound = false;
    // Sent but never answered: the SMSC keeps them and tries again on the next bind.
    for (const item of session.sim.outstanding) {
      item.state = 'queued';
      (state.pending[item.system_id] = state.pending[item.system_id] || []).push(item);
    }
    session.sim.outstanding.clear();
  });
  session.on('bind_transceiver', (pdu) => onBind(session, pdu, true, true));
  session.on('bind_transmitter', (pdu) => onBind(session, pdu, false, true));
  session.on('bind_receiver', (pdu) => onBind(session, pdu, true, false));
  session.on('submit_sm', (pdu) => onSubmit(session, pdu));
  session.on('enquire_link', (pdu) => {
    state.enquire_link_received += 1;
    session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    state.unbind_received += 1;
    session.sim.bound = false;
    session.send(pdu.response(), () => session.close());
  });
  session.on('unknown', (pdu) => session.send(pdu.response()));  // generic_nack ESME_RINVCMDID
  const handled = ['bind_transceiver', 'bind_transmitter', 'bind_receiver', 'submit_sm', 'enquire_link', 'unbind', 'unknown'];
  session.on('pdu', (pdu) => {
    if (!pdu.isResponse() && !handled.includes(pdu.command)) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVCMDID }));
    }
  });
});

// --- control API

function mo(body) {
  const text = String(body.text || '');
  let dataCoding = body.data_coding;
  if (dataCoding === undefined) dataCoding = smpp.gsmCoder.GSM.charRegex.test(text) ? 0 : 8;
  let short;
  if (dataCoding === 8) short = ucs2Encode(text);
  else if (dataCoding === 3) short = Buffer.from(text, 'latin1');
  else short = smpp.gsmCoder.encode(text, 0);
  const pdu = {
    source_addr_ton: 1, source_addr_npi: 1, source_addr: String(body.from),
    dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: String(body.to),
    esm_class: 0, data_coding: dataCoding, short_message: short,
  };
  if (body.vendor_tlv_hex) pdu.vendor_1401 = Buffer.from(body.vendor_tlv_hex, 'hex');
  const extra = { from: pdu.source_addr, to: pdu.destination_addr, text, lose_ack: Boolean(body.lose_ack) };
  return deliver(newDelivery('mo', SYSTEM_ID, pdu, extra));
}

const publicDelivery = ({ pdu, ...item }) => item;

const routes = {
  'GET /health': () => [200, {
    ok: true,
    sessions: server.sessions.filter((s) => s.sim).map((s) => ({
      id: s.sim.id, bound: s.sim.bound, bind: s.sim.bind || null, system_id: s.sim.system_id || null,
    })),
    bound: server.sessions.filter((s) => s.sim && s.sim.bound).length,
    enquire_link_received: state.enquire_link_received, enquire_link_resp_seen: state.enquire_link_resp_seen,
    unbind_received: state.unbind_received, max_inflight: state.max_inflight, throttled: state.throttled,
    config,
  }],
  'GET /submits': () => [200, state.submits],
  'GET /messages': () => [200, state.messages],
  'GET /dlrs': () => [200, state.deliveries.filter((d) => d.kind === 'dlr').map(publicDelivery)],
  'GET /mos': () => [200, state.deliveries.filter((d) => d.kind === 'mo').map(publicDelivery)],
  'POST /reset': () => {
    // A clean slate: connections left by an earlier test must not take this test's deliveries.
    for (const s of server.sessions.slice()) { s.sim.outstanding.clear(); s.destroy(); }
    resetState();
    return [200, { ok: true }];
  },
  'POST /reject': (body) => {
    state.rejects.push({ status: Number(body.status), count: Number(body.count === undefined ? 1 : body.count) });
    return [200, { ok: true }];
  },
  'POST /disconnect': () => {
    const sessions = server.sessions.slice();
    for (const s of sessions) s.destroy();
    return [200, { closed: sessions.length }];
  },
  'POST /unbind': () => {
    // The SMSC ends the bound sessions politely: unbind, then close once answered.
    const sessions = server.sessions.filter((s) => s.sim && s.sim.bound);
    for (const s of sessions) {
      s.sim.bound = false;
      s.unbind({}, () => s.close());
    }
    return [200, { unbound: sessions.length }];
  },
  'POST /mo': (body) => (mo(body) ? [200, { delivered: true }] : [202, { queued: true }]),
  'POST /config': (body) => {
    for (const key of Object.keys(config)) if (body[key] !== undefined) config[key] = Number(body[key]);
    return [200, config];
  },
};

const control = http.createServer((req, res) => {
  let data = '';
  req.on('data', (chunk) => { data += chunk; });
  req.on('end', () => {
    let status;
    let payload;
    try {
      const route = routes[`${req.method} ${req.url.split('?')[0]}`];
      [status, payload] = route ? route(data ? JSON.parse(data) : {}) : [404, { error: 'not found' }];
    } catch (e) {
      [status, payload] = [400, { error: String(e) }];
    }
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(payload));
  });
});

server.listen(Number(env('SMSC_SMPP_PORT', 2775)), '127.0.0.1', () => {
  control.listen(Number(env('SMSC_HTTP_PORT', 8775)), '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ smpp_port: server.address().port, http_port: control.address().port }) + '\n');
  });
});
process.on('SIGTERM', () => process.exit(0));
