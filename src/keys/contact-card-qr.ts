import { encodeQR } from '@paulmillr/qr'
import { decodeContactCard } from './contact-card.js'

/**
 * Renders a contact card as a QR code for a terminal, using Unicode
 * half-block characters (two modules per character row) with a quiet zone.
 * Drawn for light-on-dark terminals: full blocks are the light modules.
 * The card is checked first (throws `INVALID_CONTACT_CARD`) and encoded
 * upper-case, which bech32 allows and which lets the QR code use its compact
 * alphanumeric mode.
 */
export function contactCardQr(text: string): string {
  decodeContactCard(text)
  return encodeQR(text.trim().toUpperCase(), 'ascii', { ecc: 'medium', border: 2 })
}
