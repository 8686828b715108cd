//! A DynamoDB item written only with conditions: the lock of a shared state for teams that
//! keep their locks in a table (`--lock dynamodb://TABLE`). The table's partition key is the
//! string `LockID`, as in Terraform's lock tables, so one table can serve both.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{AwsError, Call, Expect};

/// The partition key attribute.
const KEY: &str = "LockID";
/// The attribute holding the item's body; its whole value is the version a write expects.
const BODY: &str = "Info";

/// One item of a table.
#[derive(Clone, Debug)]
pub struct Item {
    client: aws_sdk_dynamodb::Client,
    table: String,
    key: String,
}

impl Item {
    pub fn new(config: &aws_config::SdkConfig, table: &str, key: &str) -> Self {
        Self {
            client: super::client!(aws_sdk_dynamodb, config),
            table: table.to_owned(),
            key: key.to_owned(),
        }
    }

    /// `dynamodb://TABLE/KEY`.
    pub fn url(&self) -> String {
        format!("dynamodb://{}/{}", self.table, self.key)
    }

    fn key(&self) -> AttributeValue {
        AttributeValue::S(self.key.clone())
    }

    /// The item's body and version (the body itself), read consistently; `None` when there
    /// is no such item.
    pub async fn get(&self) -> Result<Option<(Vec<u8>, String)>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, self.key())
            .consistent_read(true)
            .send()
            .await
            .op("DynamoDB.GetItem")?;
        let body = out
            .item()
            .and_then(|item| item.get(BODY))
            .and_then(|v| v.as_s().ok());
        Ok(body.map(|b| (b.clone().into_bytes(), b.clone())))
    }

    /// Writes `body` if the item is as expected, and returns its new version; `None` when it
    /// is not.
    pub async fn put(&self, body: Vec<u8>, expect: Expect<'_>) -> Result<Option<String>, AwsError> {
        let body = String::from_utf8_lossy(&body).into_owned();
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, self.key())
            .item(BODY, AttributeValue::S(body.clone()));
        let request = match expect {
            Expect::Absent => request
                .condition_expression("attribute_not_exists(#key)")
                .expression_attribute_names("#key", KEY),
            Expect::Version(version) => request
                .condition_expression("#body = :version")
                .expression_attribute_names("#body", BODY)
                .expression_attribute_values(":version", AttributeValue::S(version.to_owned())),
        };
        match request.send().await.op("DynamoDB.PutItem") {
            Ok(_) => Ok(Some(body)),
            Err(e) if e.is_condition_failed() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the item if it is still at `version`; `false` when it is not.
    pub async fn delete(&self, version: &str) -> Result<bool, AwsError> {
        match self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, self.key())
            .condition_expression("#body = :version")
            .expression_attribute_names("#body", BODY)
            .expression_attribute_values(":version", AttributeValue::S(version.to_owned()))
            .send()
            .await
            .op("DynamoDB.DeleteItem")
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_condition_failed() => Ok(false),
            Err(e) => Err(e),
        }
    }
}
