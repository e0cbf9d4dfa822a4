// Fails the way real programs do: some output, then a non-zero exit.
console.log("loading");
console.error("error: out of widgets");
process.exit(3);
