/**
 * CSV as RFC 4180 has it (comma, CRLF, quotes doubled), written so a spreadsheet never runs a
 * cell: text that starts with = + - @, a tab or a carriage return gets a leading apostrophe
 * (OWASP "CSV injection"). Numbers we write ourselves (coordinates) are not text and stay as they
 * are, so a latitude of -26.2 is still a number.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvText(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) || safe !== safe.trim() ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvNumber(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '' : String(value);
}

export function csvLine(cells: string[]): string {
  return `${cells.join(',')}\r\n`;
}

/**
 * A streaming CSV reader: feed it chunks, it hands back complete records (quoted fields may hold
 * commas and line breaks). `line` is the line the record starts on (1 = the header).
 */
export class CsvReader {
  private field = '';
  private record: string[] = [];
  private quoted = false;
  private afterQuote = false;
  private line = 1;
  private recordLine = 1;
  private pendingCr = false;

  push(chunk: string, out: (record: string[], line: number) => void): void {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (this.pendingCr) {
        this.pendingCr = false;
        if (ch === '\n') continue;
      }
      if (this.quoted) {
        if (ch === '"') {
          this.quoted = false;
          this.afterQuote = true;
        } else {
          if (ch === '\n') this.line++;
          this.field += ch;
        }
        continue;
      }
      if (ch === '"') {
        // a doubled quote inside a quoted field, or the opening quote
        if (this.afterQuote) this.field += '"';
        this.quoted = true;
        this.afterQuote = false;
      } else if (ch === ',') {
        this.endField();
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r') this.pendingCr = true;
        this.endRecord(out);
        this.line++;
        this.recordLine = this.line;
      } else {
        this.afterQuote = false;
        this.field += ch;
      }
    }
  }

  end(out: (record: string[], line: number) => void): void {
    if (this.field !== '' || this.record.length > 0) this.endRecord(out);
  }

  private endField(): void {
    this.record.push(this.field);
    this.field = '';
    this.afterQuote = false;
  }

  private endRecord(out: (record: string[], line: number) => void): void {
    this.endField();
    const record = this.record;
    this.record = [];
    // blank lines are no records
    if (!(record.length === 1 && record[0] === '')) out(record, this.recordLine);
  }
}
