#!/usr/bin/env node
// Writes broken variants of a valid dashboard for the validator's negative self-test.
//
// usage: node make_broken.js VALID.json OUT_DIR
// Each variant is OUT_DIR/<check>--<what>.json, where <check> is the validator check that
// must reject it (validate_dashboards.js prints "FILE: <check>: ...").
'use strict';

const fs = require('fs');
const path = require('path');

const [validFile, outDir] = process.argv.slice(2);
const valid = JSON.parse(fs.readFileSync(validFile, 'utf8'));
const clone = () => JSON.parse(JSON.stringify(valid));
const panelsOf = (d, pred) => d.panels.filter((p) => p.type !== 'row' && pred(p));
const first = (d, pred) => {
  const p = panelsOf(d, pred)[0];
  if (!p) throw new Error('no panel matches a mutation; the valid dashboard changed shape');
  return p;
};

const variants = {
  'schema--unknown-dashboard-key': (d) => { d.colour = 'blue'; },
  'schema--stat-without-reduce-options': (d) => {
    delete first(d, (p) => p.type === 'stat').options.reduceOptions;
  },
  'schema--target-unknown-key': (d) => {
    first(d, (p) => (p.targets || []).length > 0).targets[0].query = 'up';
  },
  'schema--unknown-panel-type': (d) => { first(d, (p) => p.type === 'timeseries').type = 'graph'; },
  'variables--object-query': (d) => {
    const v = d.templating.list.find((x) => x.type === 'query');
    v.query = {query: v.query, refId: 'PrometheusVariableQueryEditor-VariableQuery'};
  },
  'variables--undefined-variable': (d) => {
    const t = first(d, (p) => (p.targets || []).some((x) => x.expr.includes('$model'))).targets[0];
    t.expr = t.expr.replace('$model', '$modle');
  },
  'variables--undefined-braced-variable': (d) => {
    first(d, () => true).title += ' ${cluster}';
  },
  'grid--overlap': (d) => {
    const [a, b] = panelsOf(d, () => true);
    b.gridPos = Object.assign({}, a.gridPos);
  },
  'grid--too-wide': (d) => { first(d, () => true).gridPos.w = 25; },
  'grid--beyond-right-edge': (d) => {
    const p = first(d, (x) => x.gridPos.w >= 8);
    p.gridPos.x = 24 - p.gridPos.w + 4;
  },
  'rate_interval--fixed-range': (d) => {
    const t = first(d, (p) => (p.targets || []).some((x) => x.expr.includes('[$__rate_interval]')))
                  .targets.find((x) => x.expr.includes('[$__rate_interval]'));
    t.expr = t.expr.replace('[$__rate_interval]', '[5m]');
  },
  'rate_interval--annotation-range': (d) => {
    d.annotations.list.push({name: 'x', enable: true, iconColor: 'red',
                             expr: 'increase(ALERTS_FOR_STATE[1h]) > 0'});
  },
  'unit--missing': (d) => { delete first(d, () => true).fieldConfig.defaults.unit; },
  'description--panel-missing': (d) => { first(d, () => true).description = ''; },
  'description--no-generated-mark': (d) => { d.description = 'Hand-made dashboard.'; },
  'uid--too-long': (d) => { d.uid = 'x'.repeat(41); },
  'heatmap--calculated': (d) => { first(d, (p) => p.type === 'heatmap').options.calculate = true; },
  'ids--duplicate': (d) => {
    const [a, b] = panelsOf(d, () => true);
    b.id = a.id;
  },
};

fs.mkdirSync(outDir, {recursive: true});
for (const [name, mutate] of Object.entries(variants)) {
  const d = clone();
  mutate(d);
  fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(d, null, 2) + '\n');
}
process.stdout.write(`${Object.keys(variants).length} broken variants in ${outDir}\n`);
