require("child_process").spawnSync(process.argv[2], process.argv.slice(3), { stdio: "inherit" });
