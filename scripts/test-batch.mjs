// One batch of test files in one process (see run-tests.mjs): each file's tests register with
// node:test as the file is imported, and the tests run one after another.
for (const file of process.argv.slice(2)) {
  await import(new URL(file, `file://${process.cwd()}/`).href);
}
