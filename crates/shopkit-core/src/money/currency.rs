//! ISO 4217 currencies and their minor units.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::MoneyError;

macro_rules! currencies {
    ($($code:ident => $minor:literal, $name:literal;)+) => {
        /// An ISO 4217 currency that shopkit knows the minor unit of.
        ///
        /// Parsing an unknown code is an error ([`MoneyError::UnknownCurrency`]), never a guess:
        /// rounding a price needs the currency's exponent, and a wrong exponent is a wrong price.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        #[non_exhaustive]
        pub enum Currency {
            $(#[doc = $name] $code,)+
        }

        impl Currency {
            /// Every currency shopkit knows, in code order.
            pub const ALL: &'static [Currency] = &[$(Currency::$code,)+];

            /// The three-letter ISO 4217 code, e.g. `"EUR"`.
            pub const fn code(self) -> &'static str {
                match self { $(Currency::$code => stringify!($code),)+ }
            }

            /// Digits after the decimal point of the minor unit: USD 2, JPY 0, KWD 3.
            pub const fn minor_units(self) -> u32 {
                match self { $(Currency::$code => $minor,)+ }
            }

            /// The English name of the currency.
            pub const fn name(self) -> &'static str {
                match self { $(Currency::$code => $name,)+ }
            }
        }

        impl FromStr for Currency {
            type Err = MoneyError;

            /// Parses a code case-insensitively (`"usd"` is USD).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_uppercase().as_str() {
                    $(stringify!($code) => Ok(Currency::$code),)+
                    _ => Err(MoneyError::UnknownCurrency { code: s.to_owned() }),
                }
            }
        }
    };
}

currencies! {
    AED => 2, "UAE dirham";
    AUD => 2, "Australian dollar";
    BHD => 3, "Bahraini dinar";
    BRL => 2, "Brazilian real";
    CAD => 2, "Canadian dollar";
    CHF => 2, "Swiss franc";
    CLP => 0, "Chilean peso";
    CNY => 2, "Chinese yuan";
    CZK => 2, "Czech koruna";
    DKK => 2, "Danish krone";
    EUR => 2, "Euro";
    GBP => 2, "Pound sterling";
    HKD => 2, "Hong Kong dollar";
    HUF => 2, "Hungarian forint";
    IDR => 2, "Indonesian rupiah";
    ILS => 2, "Israeli new shekel";
    INR => 2, "Indian rupee";
    ISK => 0, "Icelandic króna";
    JOD => 3, "Jordanian dinar";
    JPY => 0, "Japanese yen";
    KRW => 0, "South Korean won";
    KWD => 3, "Kuwaiti dinar";
    MXN => 2, "Mexican peso";
    NOK => 2, "Norwegian krone";
    NZD => 2, "New Zealand dollar";
    OMR => 3, "Omani rial";
    PLN => 2, "Polish złoty";
    SAR => 2, "Saudi riyal";
    SEK => 2, "Swedish krona";
    SGD => 2, "Singapore dollar";
    THB => 2, "Thai baht";
    TND => 3, "Tunisian dinar";
    TRY => 2, "Turkish lira";
    TWD => 2, "New Taiwan dollar";
    USD => 2, "United States dollar";
    VND => 0, "Vietnamese đồng";
    ZAR => 2, "South African rand";
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Currency> for &'static str {
    fn from(c: Currency) -> Self {
        c.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::USD.minor_units(), 2);
        assert_eq!(Currency::JPY.minor_units(), 0);
        assert_eq!(Currency::KRW.minor_units(), 0);
        assert_eq!(Currency::KWD.minor_units(), 3);
    }

    #[test]
    fn codes_parse_case_insensitively_and_unknown_codes_are_errors() {
        assert_eq!("eur".parse::<Currency>().unwrap(), Currency::EUR);
        assert!(matches!(
            "XXX".parse::<Currency>(),
            Err(MoneyError::UnknownCurrency { code }) if code == "XXX"
        ));
    }

    #[test]
    fn every_code_round_trips() {
        for c in Currency::ALL {
            assert_eq!(c.code().parse::<Currency>().unwrap(), *c);
        }
    }

    #[test]
    fn serde_uses_the_code() {
        let json = serde_json::to_string(&Currency::CHF).unwrap();
        assert_eq!(json, "\"CHF\"");
        assert_eq!(serde_json::from_str::<Currency>("\"SEK\"").unwrap(), Currency::SEK);
        assert!(serde_json::from_str::<Currency>("\"ABC\"").is_err());
    }
}
