// Regenerates TestUSDC.json (abi + bytecode) offline with npm solc 0.8.37.
//   npm install --prefix /tmp/solc solc@0.8.37
//   NODE_PATH=/tmp/solc/node_modules node compile.js TestUSDC.sol TestUSDC.json cancun
// evmVersion is pinned to "cancun" (solc 0.8.37 defaults to "osaka") for portability.
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const [src = "TestUSDC.sol", out = "TestUSDC.json", evm = "cancun"] = process.argv.slice(2);
const name = path.basename(src);
const input = {
  language: "Solidity",
  sources: { [name]: { content: fs.readFileSync(src, "utf8") } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: evm,
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const res = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (res.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const c = res.contracts[name].TestUSDC;
const artifact = {
  contractName: "TestUSDC",
  compiler: "solc " + solc.version(),
  evmVersion: evm,
  abi: c.abi,
  bytecode: "0x" + c.evm.bytecode.object,
};
fs.writeFileSync(out, JSON.stringify(artifact, null, 1) + "\n");
console.log(`wrote ${out}: ${c.evm.bytecode.object.length / 2} bytes, ${c.abi.length} ABI entries`);
