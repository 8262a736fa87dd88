// Text helpers shared by the chat modules: placeholders and card facts in the reader's
// locale. No DOM and no socket here.

export function format(template, params = {}) {
  return String(template).replace(/\{(\w+)\}/g, (m, key) => (key in params ? params[key] : m));
}

// Gettext catalogues keep Python's "%(name)s" placeholders (card strings are shared with the
// Telegram bot, see commerce/card_render.py); missing values render as nothing.
export function pyformat(template, params = {}) {
  return String(template || "").replace(/%\((\w+)\)s/g, (m, key) =>
    params[key] === undefined || params[key] === null ? "" : String(params[key]),
  );
}

// Card facts → text in the reader's locale (the page's <html lang>) and time zone (the browser's).
export function cardFormatters(locale) {
  const lang = locale || undefined;
  const number = (value) => (value === null || value === undefined || value === "" ? NaN : Number(value));
  return {
    money(amount, currency, signed = false) {
      const value = number(amount);
      if (!Number.isFinite(value) || !currency) return "";
      let text;
      try {
        text = new Intl.NumberFormat(lang, { style: "currency", currency }).format(value);
      } catch {
        text = `${amount} ${currency}`;
      }
      return signed && value > 0 ? `+${text}` : text;
    },
    percent(value) {
      const n = number(value);
      return Number.isFinite(n) ? new Intl.NumberFormat(lang, { style: "percent" }).format(n / 100) : "";
    },
    days(value) {
      const n = number(value);
      if (!Number.isFinite(n)) return "";
      try {
        return new Intl.NumberFormat(lang, { style: "unit", unit: "day", unitDisplay: "long" }).format(n);
      } catch {
        return String(n);
      }
    },
    date(value) {
      if (!value) return "";
      const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(String(value));
      const moment = new Date(dateOnly ? `${value}T00:00:00Z` : value);
      if (Number.isNaN(moment.getTime())) return "";
      // A calendar date (due date) is the same day everywhere; instants use the reader's zone.
      return new Intl.DateTimeFormat(lang, dateOnly ? { dateStyle: "medium", timeZone: "UTC" } : { dateStyle: "medium" }).format(moment);
    },
  };
}
