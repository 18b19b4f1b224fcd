// Lint: typescript-eslint's recommended rules, plus the house rule that time comes only from src/base/clock.ts.
import tseslint from "typescript-eslint";

const timeRule = {
  "no-restricted-globals": [
    "error",
    { name: "setTimeout", message: "take a Clock (src/base/clock.ts): timers must be testable without sleeping" },
    { name: "setInterval", message: "take a Clock (src/base/clock.ts)" },
  ],
  "no-restricted-properties": [
    "error",
    { object: "Date", property: "now", message: "use clock.wallNow()" },
    { object: "performance", property: "now", message: "use clock.now()" },
  ],
};

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "coverage/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  { files: ["src/**/*.ts", "firmware/**/*.ts"], ignores: ["src/base/clock-real.ts"], rules: timeRule },
  { files: ["**/*.cjs"], languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } }, rules: { "@typescript-eslint/no-require-imports": "off" } },
);
