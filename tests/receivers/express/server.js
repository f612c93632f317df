// The inSIM reference's Express webhook handler, as documented, plus a log for the tests.
//
// `/webhook` is the reference's handler: JSON.parse(decodeURIComponent(req.query.KIND)),
// a second decode of a parameter Express has already decoded once. `/once` is the
// one-line fix: JSON.parse(req.query.KIND). GET /_log returns what arrived.
const express = require('express');

const app = express();
const log = [];
const KINDS = ['message', 'calls', 'clics', 'status', 'qualification'];

function record(req, kind, parsed, error) {
  const raw = req.originalUrl;
  const q = raw.indexOf('?');
  log.push({
    route: req.path,
    raw_query: q >= 0 ? raw.slice(q + 1) : '',
    kind,
    once: req.query[kind],
    parsed: parsed === undefined ? null : parsed,
    error: error || null,
    headers: req.headers,
  });
}

app.get('/webhook', (req, res) => {
  for (const kind of KINDS) {
    if (req.query[kind]) {
      let payload;
      try {
        payload = JSON.parse(decodeURIComponent(req.query[kind]));
      } catch (err) {
        record(req, kind, null, err.name);
        throw err; // as the reference's handler would: Express answers 500
      }
      record(req, kind, payload, null);
      res.status(200).send('OK');
      return;
    }
  }
  res.status(400).send('No webhook data');
});

app.get('/once', (req, res) => {
  for (const kind of KINDS) {
    if (req.query[kind]) {
      const payload = JSON.parse(req.query[kind]);
      record(req, kind, payload, null);
      res.status(200).send('OK');
      return;
    }
  }
  res.status(400).send('No webhook data');
});

app.get('/_log', (req, res) => res.json(log));

// Quiet error handler: the status is what matters to the sender.
app.use((err, req, res, next) => {
  res.status(500).send(err.name);
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
