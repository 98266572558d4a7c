#!/usr/bin/env node
// Validates generated Grafana dashboards.
//
// usage: node validate_dashboards.js SCHEMA_DIR DASHBOARD.json...
//
// For each dashboard:
//   - the whole dashboard against dashboard.jsonschema.json (ajv 8, draft-07);
//   - each panel one by one against the Panel (or RowPanel) definition, its options against
//     <type>.jsonschema.json#/definitions/Options, fieldConfig.defaults.custom against that
//     file's FieldConfig, and every target against prometheus.jsonschema.json;
//   - layout: gridPos present, w <= 24, x + w <= 24, no two panels overlap, unique ids;
//   - every $var / ${var} used anywhere is a defined template variable or a Grafana built-in
//     ($__name);
//   - every rate()/irate()/increase() range is [$__rate_interval];
//   - every panel other than a row has a description and fieldConfig.defaults.unit;
//   - template variable queries are strings; the description carries the generated mark;
//     the uid is 1-40 characters of [A-Za-z0-9_-]; classic-histogram heatmaps use
//     format "heatmap" with calculate: false.
// Prints one line per problem ("FILE: check: message") and exits 1 if there was any.
'use strict';

const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const GRID_WIDTH = 24;
const GENERATED_MARK = 'generated \u2014 do not edit';

function loadSchemas(dir) {
  const ajv = new Ajv({allErrors: true, strict: false});
  addFormats(ajv);
  for (const file of fs.readdirSync(dir)) {
    if (!file.endsWith('.jsonschema.json')) continue;
    const schema = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    ajv.addSchema(schema, file.replace('.jsonschema.json', ''));
  }
  return ajv;
}

function describeErrors(errors) {
  return (errors || [])
      .slice(0, 8)
      .map((e) => `${e.instancePath || '/'} ${e.message}` +
               (e.params && e.params.additionalProperty ?
                    ` (${e.params.additionalProperty})` :
                    ''))
      .join('; ');
}

// Returns the validator for `id#/definitions/name`, or null if the schema lacks it.
function definition(ajv, id, name) {
  const root = ajv.getSchema(id);
  if (!root || !root.schema.definitions || !root.schema.definitions[name]) return null;
  return ajv.getSchema(`${id}#/definitions/${name}`);
}

function allPanels(dashboard) {
  const out = [];
  for (const p of dashboard.panels || []) {
    out.push(p);
    if (p.type === 'row' && Array.isArray(p.panels)) out.push(...p.panels);
  }
  return out;
}

// Every string in `value`, with a JSON-pointer-like location.
function* strings(value, where) {
  if (typeof value === 'string') {
    yield [value, where];
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* strings(value[i], `${where}/${i}`);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* strings(v, `${where}/${k}`);
  }
}

// Returns the problems of every rate()/irate()/increase() call in a PromQL expression.
function rateIntervalProblems(expr) {
  const problems = [];
  const re = /\b(rate|irate|increase)\s*\(/g;
  let m;
  while ((m = re.exec(expr)) !== null) {
    let depth = 1;
    let i = re.lastIndex;
    for (; i < expr.length && depth > 0; i++) {
      if (expr[i] === '(') depth++;
      if (expr[i] === ')') depth--;
    }
    const inner = expr.slice(re.lastIndex, i - 1);
    const ranges = [...inner.matchAll(/\[([^\]]*)\]/g)].map((r) => r[1].trim());
    if (ranges.length === 0) {
      problems.push(`${m[1]}() without a range selector in: ${expr}`);
    }
    for (const r of ranges) {
      if (r !== '$__rate_interval') {
        problems.push(`${m[1]}() uses [${r}] instead of [$__rate_interval] in: ${expr}`);
      }
    }
  }
  return problems;
}

function validateDashboard(ajv, file) {
  const problems = [];
  const report = (check, message) => problems.push(`${file}: ${check}: ${message}`);
  let dashboard;
  try {
    dashboard = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    report('json', e.message);
    return problems;
  }

  // 1. The dashboard as a whole.
  const validateDash = ajv.getSchema('dashboard');
  if (!validateDash(dashboard)) {
    report('schema', `dashboard: ${describeErrors(validateDash.errors)}`);
  }

  // 2. Panel by panel.
  const panelDef = definition(ajv, 'dashboard', 'Panel');
  const rowDef = definition(ajv, 'dashboard', 'RowPanel');
  const targetDef = ajv.getSchema('prometheus');
  const panels = allPanels(dashboard);
  for (const p of panels) {
    const name = `panel ${p.id} "${p.title}" (${p.type})`;
    if (p.type === 'row') {
      if (!rowDef(p)) report('schema', `${name}: ${describeErrors(rowDef.errors)}`);
      continue;
    }
    if (!panelDef(p)) report('schema', `${name}: ${describeErrors(panelDef.errors)}`);
    const options = definition(ajv, p.type, 'Options');
    if (!options) {
      report('schema', `${name}: no schema for panel type "${p.type}"`);
    } else if (!options(p.options || {})) {
      report('schema', `${name} options: ${describeErrors(options.errors)}`);
    }
    const custom = definition(ajv, p.type, 'FieldConfig');
    const defaults = (p.fieldConfig && p.fieldConfig.defaults) || {};
    if (custom && defaults.custom !== undefined && !custom(defaults.custom)) {
      report('schema', `${name} fieldConfig.defaults.custom: ${describeErrors(custom.errors)}`);
    }
    for (const t of p.targets || []) {
      if (!targetDef(t)) {
        report('schema', `${name} target ${t.refId}: ${describeErrors(targetDef.errors)}`);
      }
    }

    // 6. Unit and description.
    if (typeof p.description !== 'string' || p.description.trim() === '') {
      report('description', `${name} has no description`);
    }
    if (typeof defaults.unit !== 'string' || defaults.unit.trim() === '') {
      report('unit', `${name} has no fieldConfig.defaults.unit`);
    }

    // Classic-histogram heatmaps: Prometheus buckets, not Grafana's own calculation.
    if (p.type === 'heatmap') {
      for (const t of p.targets || []) {
        if (/_bucket\b/.test(t.expr || '') && t.format !== 'heatmap') {
          report('heatmap', `${name} target ${t.refId} needs format "heatmap"`);
        }
      }
      if (!p.options || p.options.calculate !== false) {
        report('heatmap', `${name} needs options.calculate = false`);
      }
    }
  }

  // 3. Layout (rows and panels share the grid; a collapsed row's panels are hidden).
  const seenIds = new Map();
  const placed = [];
  for (const p of dashboard.panels || []) {
    const name = `panel ${p.id} "${p.title}"`;
    if (seenIds.has(p.id)) report('ids', `${name} repeats the id of "${seenIds.get(p.id)}"`);
    seenIds.set(p.id, p.title);
    const g = p.gridPos;
    if (!g || [g.x, g.y, g.w, g.h].some((v) => !Number.isInteger(v))) {
      report('grid', `${name} has no complete integer gridPos`);
      continue;
    }
    if (g.w < 1 || g.w > GRID_WIDTH) report('grid', `${name} has width ${g.w}`);
    if (g.x < 0 || g.x + g.w > GRID_WIDTH) {
      report('grid', `${name} spans x ${g.x}..${g.x + g.w}, beyond ${GRID_WIDTH}`);
    }
    if (g.h < 1 || g.y < 0) report('grid', `${name} has height ${g.h} at y ${g.y}`);
    for (const [other, og] of placed) {
      const overlap = g.x < og.x + og.w && og.x < g.x + g.w && g.y < og.y + og.h &&
          og.y < g.y + g.h;
      if (overlap) report('grid', `${name} overlaps panel ${other.id} "${other.title}"`);
    }
    placed.push([p, g]);
  }

  // 4. Variables.
  const vars = ((dashboard.templating && dashboard.templating.list) || []);
  const defined = new Set(vars.map((v) => v.name));
  for (const v of vars) {
    if (v.query !== undefined && typeof v.query !== 'string') {
      report('variables', `variable ${v.name}: query must be a string`);
    }
  }
  const varRe = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))/g;
  for (const [text, where] of strings(dashboard, '')) {
    for (const m of text.matchAll(varRe)) {
      const v = m[1] || m[2];
      if (!defined.has(v) && !v.startsWith('__')) {
        report('variables', `$${v} at ${where} is not a defined variable`);
      }
    }
  }

  // 5. rate()/increase() intervals, in panel targets and annotation queries.
  const exprs = [];
  for (const p of panels) for (const t of p.targets || []) exprs.push(t.expr || '');
  for (const a of (dashboard.annotations && dashboard.annotations.list) || []) {
    if (a.expr) exprs.push(a.expr);
  }
  for (const e of exprs) for (const msg of rateIntervalProblems(e)) report('rate_interval', msg);

  // 7. Identity.
  if (typeof dashboard.description !== 'string' ||
      !dashboard.description.includes(GENERATED_MARK)) {
    report('description', `dashboard description lacks "${GENERATED_MARK}"`);
  }
  if (typeof dashboard.uid !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(dashboard.uid)) {
    report('uid', `uid ${JSON.stringify(dashboard.uid)} is not 1-40 of [A-Za-z0-9_-]`);
  }
  return problems;
}

function main(argv) {
  if (argv.length < 2) {
    process.stderr.write('usage: validate_dashboards.js SCHEMA_DIR DASHBOARD.json...\n');
    return 2;
  }
  const ajv = loadSchemas(argv[0]);
  let failed = 0;
  for (const file of argv.slice(1)) {
    const problems = validateDashboard(ajv, file);
    if (problems.length) {
      failed++;
      for (const p of problems) process.stdout.write(`${p}\n`);
    } else {
      process.stdout.write(`ok ${file}\n`);
    }
  }
  process.stdout.write(`${argv.length - 1 - failed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
