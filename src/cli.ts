import { main } from "./main.js";

// Set the exit code rather than calling process.exit(), so that logs and output flush first.
process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
});
