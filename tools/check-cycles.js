#!/usr/bin/env node
// Fails when source files import each other in a cycle (part of `npm run lint`).
//
//   node tools/check-cycles.js            exit 0: no cycle; exit 1: each cycle printed as `a.ts → b.ts → a.ts`
//
// Every TypeScript file of tsconfig.json (apps, libs, tools, bench, test) is read with the TypeScript compiler and its
// imports are resolved as tsc resolves them (relative paths and the @skyweave/* workspace packages alike); npm
// packages are left out. All of them count: `import`, `import type`, `export … from`, `import()` and `require()`.
// Type-only imports count on purpose: the two cycles this check was added for (libs/bootstrap kubeadm.ts ↔ pki.ts,
// libs/domain cluster.ts ↔ mesh.ts) each had a type-only edge, which eslint-plugin-import's `import/no-cycle` skips
// (a planted copy of either passed it), and a type cycle is as hard to follow as a value one.
// Cycles are the strongly connected components of the import graph (Tarjan); one concrete loop is shown for each.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.resolve(__dirname, '..');

/**
 * The import graph of the project's TypeScript files.
 * @param {string} tsconfigPath absolute path of the tsconfig whose files and compiler options are used
 * @returns {Map<string, Map<string, boolean>>} file → (imported file → whether every import of it is type-only); absolute real paths
 * @throws Error when the tsconfig cannot be read
 */
function importGraph(tsconfigPath) {
  const config = ts.getParsedCommandLineOfConfigFile(tsconfigPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  });
  if (!config) throw new Error(`cannot read ${tsconfigPath}`);
  const files = new Set(config.fileNames.map((f) => fs.realpathSync(f)));
  const graph = new Map();
  for (const file of files) {
    const edges = new Map();
    for (const { specifier, typeOnly } of importsOf(file)) {
      const resolved = ts.resolveModuleName(specifier, file, config.options, ts.sys).resolvedModule;
      if (!resolved) continue;
      const target = fs.realpathSync(resolved.resolvedFileName);
      if (!files.has(target) || target === file) continue;
      edges.set(target, (edges.get(target) ?? true) && typeOnly);
    }
    graph.set(file, edges);
  }
  return graph;
}

/**
 * The module specifiers one file imports, each with whether that import brings in types only.
 * @param {string} file absolute path of a .ts file
 * @returns {{ specifier: string; typeOnly: boolean }[]}
 */
function importsOf(file) {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const typeOnly = Boolean(clause && (clause.isTypeOnly || (!clause.name && bindings && ts.isNamedImports(bindings)
        && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly))));
      out.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push({ specifier: node.moduleReference.expression.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1 && ts.isStringLiteralLike(node.arguments[0])
      && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      out.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/**
 * Strongly connected components with more than one file (Tarjan's algorithm, iterative).
 * @param {Map<string, Map<string, boolean>>} graph
 * @returns {string[][]} each component's files
 */
function cyclicComponents(graph) {
  let next = 0;
  const index = new Map(), low = new Map(), onStack = new Set(), stack = [], components = [];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work = [{ v: start, edges: [...graph.get(start).keys()], i: 0 }];
    index.set(start, next); low.set(start, next++); stack.push(start); onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1];
      if (frame.i < frame.edges.length) {
        const w = frame.edges[frame.i++];
        if (!index.has(w)) {
          index.set(w, next); low.set(w, next++); stack.push(w); onStack.add(w);
          work.push({ v: w, edges: [...graph.get(w).keys()], i: 0 });
        } else if (onStack.has(w)) low.set(frame.v, Math.min(low.get(frame.v), index.get(w)));
        continue;
      }
      work.pop();
      if (work.length) low.set(work[work.length - 1].v, Math.min(low.get(work[work.length - 1].v), low.get(frame.v)));
      if (low.get(frame.v) === index.get(frame.v)) {
        const component = [];
        let w;
        do { w = stack.pop(); onStack.delete(w); component.push(w); } while (w !== frame.v);
        if (component.length > 1) components.push(component);
      }
    }
  }
  return components;
}

/**
 * One shortest loop through `component`, starting and ending at its first file (breadth-first within the component).
 * @param {Map<string, Map<string, boolean>>} graph
 * @param {string[]} component
 * @returns {string[]} files, the first repeated at the end
 */
function loopIn(graph, component) {
  const inside = new Set(component);
  const start = [...component].sort()[0];
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v).keys()) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const loop = [start];
        for (let u = v; u !== null; u = previous.get(u)) loop.unshift(u);
        return loop;
      }
      if (!previous.has(w)) { previous.set(w, v); queue.push(w); }
    }
  }
  return [start, start];
}

module.exports = { importGraph, importsOf, cyclicComponents, loopIn };

if (require.main === module) {
  const graph = importGraph(path.join(ROOT, 'tsconfig.json'));
  const components = cyclicComponents(graph);
  const rel = (f) => path.relative(ROOT, f);
  if (components.length === 0) {
    console.log(`check-cycles: ${graph.size} files, no import cycle`);
  } else {
    console.error(`check-cycles: ${components.length} import cycle(s) among ${graph.size} files; cut each (move what both sides need into a module below them):`);
    for (const component of components) {
      const loop = loopIn(graph, component);
      const steps = loop.slice(1).map((f, i) => `${graph.get(loop[i]).get(f) ? ' →(type) ' : ' → '}${rel(f)}`).join('');
      console.error(`  ${rel(loop[0])}${steps}${component.length > loop.length - 1 ? `   (${component.length} files in this cycle)` : ''}`);
    }
    process.exitCode = 1;
  }
}
