// Usage and cost: prices per model (the ledger and reports build on this).
export { PriceTable, BUNDLED_PRICES, type Price } from './prices.ts';
