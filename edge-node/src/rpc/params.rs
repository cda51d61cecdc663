//! Parameters by name or by position, as Core Lightning accepts them: an object keyed by
//! parameter name, or an array in the method's documented order. Unknown names and surplus
//! positions are refused, like Core Lightning's `param()` does.

use secp256k1::PublicKey;
use serde_json::{Map, Value};

use super::RpcError;

/// A method's parameters, normalised to names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    named: Map<String, Value>,
}

impl Params {
    /// `names` is the method's positional order; it is also the full set of accepted names.
    pub fn parse(params: Option<&Value>, names: &[&str]) -> Result<Self, RpcError> {
        let mut named = Map::new();
        match params {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (key, value) in map {
                    if !names.contains(&key.as_str()) {
                        return Err(RpcError::invalid_params(format!(
                            "unknown parameter: {key}"
                        )));
                    }
                    if !value.is_null() {
                        named.insert(key.clone(), value.clone());
                    }
                }
            }
            Some(Value::Array(list)) => {
                if list.len() > names.len() {
                    return Err(RpcError::invalid_params(format!(
                        "too many parameters: got {}, expected at most {}",
                        list.len(),
                        names.len()
                    )));
                }
                for (name, value) in names.iter().zip(list) {
                    if !value.is_null() {
                        named.insert((*name).to_owned(), value.clone());
                    }
                }
            }
            Some(_) => {
                return Err(RpcError::invalid_params(
                    "params must be an object or an array",
                ))
            }
        }
        Ok(Params { named })
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.named.get(name)
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.named
    }

    pub fn required(&self, name: &str) -> Result<&Value, RpcError> {
        self.get(name)
            .ok_or_else(|| RpcError::invalid_params(format!("missing required parameter: {name}")))
    }

    pub fn required_str(&self, name: &str) -> Result<&str, RpcError> {
        self.required(name)?
            .as_str()
            .ok_or_else(|| RpcError::invalid_params(format!("{name}: should be a string")))
    }

    pub fn optional_str(&self, name: &str) -> Result<Option<&str>, RpcError> {
        self.get(name)
            .map(|value| {
                value
                    .as_str()
                    .ok_or_else(|| RpcError::invalid_params(format!("{name}: should be a string")))
            })
            .transpose()
    }

    pub fn optional_bool(&self, name: &str) -> Result<Option<bool>, RpcError> {
        self.get(name)
            .map(|value| match value {
                Value::Bool(b) => Ok(*b),
                // Core Lightning's lightning-cli sends literals it cannot type as strings.
                Value::String(s) if s == "true" => Ok(true),
                Value::String(s) if s == "false" => Ok(false),
                _ => Err(RpcError::invalid_params(format!(
                    "{name}: should be 'true' or 'false'"
                ))),
            })
            .transpose()
    }

    pub fn optional_u16(&self, name: &str) -> Result<Option<u16>, RpcError> {
        self.get(name)
            .map(|value| {
                let number = match value {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                number.and_then(|n| u16::try_from(n).ok()).ok_or_else(|| {
                    RpcError::invalid_params(format!("{name}: should be a 16-bit integer"))
                })
            })
            .transpose()
    }

    pub fn required_pubkey(&self, name: &str) -> Result<PublicKey, RpcError> {
        parse_pubkey(name, self.required_str(name)?)
    }

    pub fn optional_pubkey(&self, name: &str) -> Result<Option<PublicKey>, RpcError> {
        self.optional_str(name)?
            .map(|text| parse_pubkey(name, text))
            .transpose()
    }

    pub fn required_hex(&self, name: &str) -> Result<Vec<u8>, RpcError> {
        hex::decode(self.required_str(name)?)
            .map_err(|_| RpcError::invalid_params(format!("{name}: should be a hex string")))
    }
}

/// A compressed public key in hex, as Core Lightning writes node ids.
pub fn parse_pubkey(name: &str, text: &str) -> Result<PublicKey, RpcError> {
    hex::decode(text)
        .ok()
        .filter(|bytes| bytes.len() == 33)
        .and_then(|bytes| PublicKey::from_slice(&bytes).ok())
        .ok_or_else(|| RpcError::invalid_params(format!("{name}: should be a node id")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NAMES: [&str; 3] = ["id", "host", "port"];

    #[test]
    fn by_name_and_by_position_agree() {
        let named = Params::parse(Some(&json!({"id": "x", "port": 9735})), &NAMES).unwrap();
        let positional = Params::parse(Some(&json!(["x", null, 9735])), &NAMES).unwrap();
        assert_eq!(named, positional);
        assert_eq!(named.optional_u16("port").unwrap(), Some(9735));
        assert_eq!(named.optional_str("host").unwrap(), None);
    }

    #[test]
    fn unknown_names_and_surplus_positions_are_refused() {
        let error = Params::parse(Some(&json!({"idd": 1})), &NAMES).unwrap_err();
        assert_eq!(error.code, -32602);
        assert!(error.message.contains("idd"));
        assert!(Params::parse(Some(&json!([1, 2, 3, 4])), &NAMES).is_err());
        assert!(Params::parse(Some(&json!("id")), &NAMES).is_err());
    }

    #[test]
    fn wrong_types_name_the_parameter() {
        let params = Params::parse(Some(&json!({"id": 5, "port": 70000})), &NAMES).unwrap();
        assert!(params
            .required_str("id")
            .unwrap_err()
            .message
            .contains("id"));
        assert!(params
            .optional_u16("port")
            .unwrap_err()
            .message
            .contains("port"));
        assert!(params
            .required_pubkey("host")
            .unwrap_err()
            .message
            .contains("host"));
    }
}
