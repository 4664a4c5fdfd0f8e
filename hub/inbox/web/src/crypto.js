// OpenPGP in the browser: loaded only when the staff member unlocks their
// key. Everything here stays in the tab: the passphrase is used once and
// dropped, and unlocked keys and plaintext live only in memory.
import * as openpgp from 'openpgp';

const utf8 = new TextDecoder();

// unlock reads the staff member's locked private key, unlocks it with the
// passphrase, and opens the team key grant with it. A grant (made by the Go
// client, client/team.go) is an OpenPGP message to the staff key, signed by
// the granting staff member, whose plaintext is armored private key blocks,
// each unlocked: the current team key first, then earlier ones. It must be
// signed by one of staffKeys (the practice's staff keys) and its first key
// must be the directory's team key.
export async function unlock({ lockedArmored, passphrase, grantArmored, teamFingerprint, staffKeys }) {
  const locked = await openpgp.readPrivateKey({ armoredKey: lockedArmored });
  let staffKey;
  try {
    staffKey = await openpgp.decryptKey({ privateKey: locked, passphrase });
  } catch {
    throw new Error('That passphrase does not unlock your key.');
  }
  const message = await openpgp.readMessage({ armoredMessage: grantArmored });
  let data;
  let signatures;
  try {
    ({ data, signatures } = await openpgp.decrypt({
      message, decryptionKeys: staffKey, verificationKeys: staffKeys, format: 'binary', expectSigned: false,
    }));
  } catch {
    throw new Error('Your team key grant could not be opened with your key.');
  }
  let signed = false;
  if (signatures.length > 0) {
    try {
      signed = await signatures[0].verified;
    } catch {
      signed = false;
    }
  }
  if (!signed) throw new Error('Your team key grant is not signed by a staff member of the practice: ask a colleague to grant it again.');
  const teamKeys = await readGrantKeys(data, passphrase);
  if (teamKeys.length === 0) throw new Error('Your team key grant holds no key.');
  if (teamFingerprint && teamKeys[0].getFingerprint().toUpperCase() !== teamFingerprint.toUpperCase()) {
    throw new Error("Your grant is not for the practice's current team key: ask a colleague to grant it again.");
  }
  return { staffKey, teamKeys };
}

const END = '-----END PGP PRIVATE KEY BLOCK-----';

// readGrantKeys reads a grant's plaintext: armored private key blocks (or
// one binary key), unlocked, or locked with the staff passphrase.
async function readGrantKeys(data, passphrase) {
  const text = utf8.decode(data);
  const keys = [];
  if (text.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) {
    for (const part of text.split(END)) {
      if (!part.includes('-----BEGIN')) continue;
      keys.push(await openpgp.readPrivateKey({ armoredKey: part.slice(part.indexOf('-----BEGIN')) + END + '\n' }));
    }
  } else {
    keys.push(await openpgp.readPrivateKey({ binaryKey: data }));
  }
  for (let i = 0; i < keys.length; i++) {
    if (keys[i].isDecrypted()) continue;
    try {
      keys[i] = await openpgp.decryptKey({ privateKey: keys[i], passphrase });
    } catch {
      throw new Error('A team key in your grant is locked with another passphrase.');
    }
  }
  return keys;
}

// readPublicKeys parses armored public keys, skipping any that fail.
export async function readPublicKeys(armoredList) {
  const out = [];
  for (const armoredKey of armoredList) {
    if (!armoredKey) continue;
    try {
      out.push(await openpgp.readKey({ armoredKey }));
    } catch {
      // A key the browser cannot read verifies nothing.
    }
  }
  return out;
}

// decryptMessage decrypts with the team key (or the staff key) and checks
// the signature against the claimed sender's keys: "good", "bad",
// "unknown_signer" (signed by a key not the sender's) or "unsigned".
export async function decryptMessage(keys, armoredMessage, senderKeys) {
  const message = await openpgp.readMessage({ armoredMessage });
  const { data, signatures } = await openpgp.decrypt({
    message,
    decryptionKeys: [...keys.teamKeys, keys.staffKey],
    verificationKeys: senderKeys,
    expectSigned: false,
  });
  let signature = 'unsigned';
  if (signatures.length > 0) {
    try {
      await signatures[0].verified;
      signature = 'good';
    } catch (e) {
      signature = /could not find signing key/i.test(String(e && e.message)) ? 'unknown_signer' : 'bad';
    }
  }
  return { text: data, signature };
}

// encryptReply signs text with the staff key and encrypts it to the
// patient's and the team's keys.
export async function encryptReply(keys, text, recipientKeys) {
  const message = await openpgp.createMessage({ text });
  return openpgp.encrypt({ message, encryptionKeys: recipientKeys, signingKeys: keys.staffKey });
}
