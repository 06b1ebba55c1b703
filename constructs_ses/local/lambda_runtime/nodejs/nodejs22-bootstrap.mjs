// How the local runtime starts AWS's runtime interface client for Node.js 22 and older
// runtimes (aws-lambda-ric 3, installed as aws-lambda-ric-3): as Lambda's bootstrap does, it runs
// the handler named by _HANDLER from the task root. aws-lambda-ric 4 (nodejs24.x and later)
// reads both itself; version 3 is the one that still runs callback handlers (three parameters),
// as Lambda's nodejs22.x runtime does ("Define Lambda function handler in Node.js").
import { run } from "./node_modules/aws-lambda-ric-3/dist/index.mjs";

await run(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), process.env._HANDLER ?? "");
